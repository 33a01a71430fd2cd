import { Route, Routes } from 'react-router-dom';
import Header from './components/Header';
import HomePage from './pages/Home';
import SignUpPage from './pages/SignUp';
import SignInPage from './pages/SignIn';
import VerifyPage from './pages/Verify';
import BroadcastPage from './pages/Broadcast';
import NotFoundPage from './pages/NotFound';

export default function App() {
  return (
    <>
      <Header />
      <main className="container">
        <Routes>
          <Route path="/" element={<HomePage />} />
          <Route path="/signup" element={<SignUpPage />} />
          <Route path="/signin" element={<SignInPage />} />
          <Route path="/verify" element={<VerifyPage />} />
          <Route path="/broadcasts/:id" element={<BroadcastPage />} />
          <Route path="*" element={<NotFoundPage />} />
        </Routes>
      </main>
      <footer className="container footer">LiveStreamer · live audio, chat and every set kept</footer>
    </>
  );
}
